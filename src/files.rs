//! Reading input files without trusting them.

use std::path::Path;

/// The text of `path` if it is a regular file of at most `cap` bytes; the
/// reason otherwise. A file that grows while it is read is cut at `cap + 1`
/// bytes and refused, so no input can make the reader run out of memory.
pub fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let metadata = file.metadata().map_err(|err| err.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    if metadata.len() > cap {
        return Err(format!(
            "{} bytes is larger than the {cap}-byte limit",
            metadata.len()
        ));
    }
    let mut text = String::new();
    file.take(cap + 1)
        .read_to_string(&mut text)
        .map_err(|err| err.to_string())?;
    if text.len() as u64 > cap {
        return Err(format!("larger than the {cap}-byte limit"));
    }
    Ok(text)
}
