"""Writers of small real data files (IDX, TSV) for the tests, from the real MNIST digits."""

import gzip
import struct
from pathlib import Path

import numpy as np

SHARED_T10K = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in IDX: 00 00 08 rank, big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, images: dict, labels: dict, gz: bool = True) -> Path:
    """images/labels: {"train": array, "t10k": array}; images (N, h, w) uint8."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in images:
        for kind, array, rank in (("images", images[split], 3), ("labels", labels[split], 1)):
            data = idx_bytes(array)
            name = f"{split}-{kind}-idx{rank}-ubyte" + (".gz" if gz else "")
            (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return folder


def tsv_text(pixels: np.ndarray, labels: np.ndarray) -> str:
    """The blog's format, with a comment and a blank line as a hand-made file would have."""
    lines = ["# pixels 0-255 then the label", ""]
    lines += ["\t".join(map(str, row)) + f"\t{label}" for row, label in zip(pixels, labels)]
    return "\n".join(lines) + "\n"
