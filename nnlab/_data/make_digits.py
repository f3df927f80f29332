"""How ``digits.npz`` was made (run once; nnlab itself never imports scikit-learn).

The 8x8 handwritten digits of the UCI "Optical Recognition of Handwritten Digits"
data set (Alpaydin & Kaynak, 1998), in the copy bundled with scikit-learn: 1797 images,
pixel values 0..16. Run from the repository root, with scikit-learn installed:

    python nnlab/_data/make_digits.py

and update the SHA-256 in ``README.md`` and in ``nnlab/datasets.py`` if it changed.
The archive is written with fixed zip timestamps so that the same data always gives
the same bytes, hence the same checksum.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).with_name("digits.npz")


def main() -> None:
    X, y = load_digits(return_X_y=True)
    images = X.astype(np.uint8)
    labels = y.astype(np.uint8)
    # The uint8 copy must be exact: pixels are integer counts 0..16.
    assert np.array_equal(images, X) and np.array_equal(labels, y)
    # np.savez_compressed stamps the current time into the zip; write it by hand instead.
    with zipfile.ZipFile(OUT, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("images", images), ("labels", labels)):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1998, 7, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), sha256 {digest}")
    print("class counts:", np.bincount(labels).tolist())


if __name__ == "__main__":
    main()
