"""quantmc: reproducible Monte Carlo option pricing and portfolio VaR/ES.

The same engine as the `quantmc` command line, called in-process: every
keyword takes the CLI's default, results are objects with attributes and a
``to_dict()``, the compute releases the GIL, Ctrl-C (KeyboardInterrupt)
stops a long run, and bad input raises ``ValueError`` naming the field.
"""

from ._quantmc import (
    BasketResult,
    ExerciseResult,
    PriceResult,
    StripResult,
    VarResult,
    __version__,
    fit,
    info,
    price,
    price_basket,
    var,
)

__all__ = [
    "BasketResult",
    "ExerciseResult",
    "PriceResult",
    "StripResult",
    "VarResult",
    "__version__",
    "fit",
    "info",
    "price",
    "price_basket",
    "var",
]
