//! Reading input files without trusting them, and writing output files
//! whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The text of `path` if it is a regular file of at most `cap` bytes; the
/// reason otherwise. The path is looked at before it is opened, so a FIFO
/// or a device is refused without blocking in `open` (a FIFO with no
/// writer would block there forever), and the opened file is looked at
/// again in case it was swapped in between. A file that grows while it is
/// read is cut at `cap + 1` bytes and refused, so no input can make the
/// reader run out of memory.
pub fn read_capped(path: &Path, cap: u64) -> Result<String, String> {
    use std::io::Read;
    let regular = |metadata: &std::fs::Metadata| {
        if metadata.is_file() {
            Ok(())
        } else {
            Err(String::from(
                "not a regular file (pipes, FIFOs and devices are refused before reading)",
            ))
        }
    };
    regular(&std::fs::metadata(path).map_err(|err| err.to_string())?)?;
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let metadata = file.metadata().map_err(|err| err.to_string())?;
    regular(&metadata)?;
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

/// Writes `bytes` to `path` whole or not at all: to a temporary file beside
/// it, flushed to disk, then renamed over `path`. A full disk or a kill
/// mid-write leaves the old file (or none), never a truncated one, and a
/// symlink at `path` is replaced, not followed. The folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = folder_of(path);
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The folder `path` is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `output` names the same file as `input` (the same path, or the
/// same file through another path or a link): an output that would
/// overwrite one of its own run's inputs.
pub fn same_file(output: &Path, input: &Path) -> bool {
    if output == input {
        return true;
    }
    match (std::fs::canonicalize(output), std::fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Checks that no JSON object in `text` holds a key twice, naming the first
/// repeated key and where it is (`assets[1]`): serde_json keeps the last of
/// a repeated key silently, so `"value": 1e6, "value": 5` would read as 5.
/// Malformed JSON passes here; the parse that follows reports it.
pub fn unique_keys(text: &str) -> Result<(), String> {
    check_json(text, &|_| None)
}

/// [`unique_keys`]' walk, which also refuses an array longer than
/// `limit(path)` where that is `Some` (`path` is the array's place, such as
/// `correlation[3]`), before anything is allocated for it: a document that
/// fits the byte cap could otherwise hold a matrix whose parse takes
/// gigabytes.
pub fn check_json(text: &str, limit: &dyn Fn(&str) -> Option<usize>) -> Result<(), String> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let keys = Keys {
        path: String::new(),
        limit,
    };
    match keys.deserialize(&mut deserializer) {
        Err(err) if err.is_data() => Err(err
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned()),
        _ => Ok(()),
    }
}

/// A walk over a JSON value that refuses repeated keys, `path` the place of
/// the value in the document.
struct Keys<'a> {
    path: String,
    limit: &'a dyn Fn(&str) -> Option<usize>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Keys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keys<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let limit = (self.limit)(&self.path);
        let mut i = 0;
        while seq
            .next_element_seed(Keys {
                path: format!("{}[{i}]", self.path),
                limit: self.limit,
            })?
            .is_some()
        {
            i += 1;
            if let Some(limit) = limit.filter(|&limit| i > limit) {
                return Err(serde::de::Error::custom(format!(
                    "{} holds more than {limit} entries, the most supported",
                    self.path
                )));
            }
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let place = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key {place:?}: a key may appear once in an object"
                )));
            }
            map.next_value_seed(Keys {
                path: place,
                limit: self.limit,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_named_with_their_place() {
        assert_eq!(unique_keys(r#"{"a": 1, "b": [{"c": 2}]}"#), Ok(()));
        assert_eq!(
            unique_keys(r#"{"value": 1e6, "value": 5}"#),
            Err(r#"duplicate key "value": a key may appear once in an object"#.into())
        );
        assert_eq!(
            unique_keys(r#"{"assets": [{"name": "A"}, {"name": "B", "name": "C"}]}"#),
            Err(r#"duplicate key "assets[1].name": a key may appear once in an object"#.into())
        );
        let square = |path: &str| (path == "m" || path.starts_with("m[")).then_some(2);
        assert_eq!(
            check_json(r#"{"m": [[1, 0], [0, 1]], "x": [1, 2, 3]}"#, &square),
            Ok(())
        );
        assert_eq!(
            check_json(r#"{"m": [[1, 0], [0, 1, 2]]}"#, &square),
            Err("m[1] holds more than 2 entries, the most supported".into())
        );
        // Malformed JSON is the parser's to report.
        assert_eq!(unique_keys("{\"a\": "), Ok(()));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("quantmc-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|status| status.success()) {
            let err = read_capped(&fifo, 100).unwrap_err();
            assert!(err.contains("not a regular file"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_atomic_write_replaces_a_link_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("quantmc-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target.txt");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.join("link.txt");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        #[cfg(unix)]
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(same_file(&target, &target));
        assert!(!same_file(&target, &link));
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
