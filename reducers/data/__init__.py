"""Data sources. Each returns a ``Split``: float32 images in [0, 1], flattened, int labels,
a train and a test part, and the image shape; or a feature table of any width, scaled on its
training split, labels optional (``load_table``). Malformed input raises ``DataError``."""

from reducers.data.builtin import load_digits, load_mnist5k
from reducers.data.fetch import load_fashion_mnist, load_mnist
from reducers.data.idx import load_idx, read_idx
from reducers.data.split import Split, make_split, random_split, stratified_split
from reducers.data.scaling import Scale, Scaling
from reducers.data.table import load_table
from reducers.data.tsv import load_tsv

__all__ = ["Split", "make_split", "stratified_split", "random_split", "load_table", "Scale",
           "Scaling", "load_mnist5k", "load_digits",
           "load_idx", "read_idx", "load_tsv", "load_mnist", "load_fashion_mnist"]
