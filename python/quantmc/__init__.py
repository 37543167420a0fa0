"""quantmc: reproducible Monte Carlo option pricing and portfolio VaR/ES.

The same engine as the `quantmc` command line, called in-process: every
keyword takes the CLI's default, results are objects with attributes and a
``to_dict()``, the compute releases the GIL, Ctrl-C (KeyboardInterrupt)
stops a long run, and bad input raises ``ValueError`` naming the field.
"""


class Levels(dict):
    """Figures keyed by confidence level as written (``"0.99"``, the CLI's
    JSON keys); the level as a number (``0.99``) finds the same entry, in
    ``[]``, ``in`` and ``get``."""

    def _label(self, key):
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            for label in self.keys():
                if float(label) == key:
                    return label
        return key

    def __missing__(self, key):
        label = self._label(key)
        if label is key:
            raise KeyError(key)
        return dict.__getitem__(self, label)

    def __contains__(self, key):
        return dict.__contains__(self, self._label(key))

    def get(self, key, default=None):
        return dict.get(self, self._label(key), default)


from ._quantmc import (
    BacktestResult,
    BasketResult,
    ExerciseResult,
    PriceResult,
    StripResult,
    VarResult,
    __version__,
    backtest,
    fit,
    info,
    price,
    price_basket,
    var,
)

__all__ = [
    "BacktestResult",
    "BasketResult",
    "Levels",
    "ExerciseResult",
    "PriceResult",
    "StripResult",
    "VarResult",
    "__version__",
    "backtest",
    "fit",
    "info",
    "price",
    "price_basket",
    "var",
]
