"""One thread per library in a process that already runs one page per core (a Dask worker,
a process of `sohoa classify train`'s OCR pool), and in the programs it starts.

Every thread cap of sohoa is set here and nowhere else.
"""

from __future__ import annotations

import os

# For processes not started yet (the local cluster's workers, tesseract): environment
# variables reach only libraries loaded after they are set.
SINGLE_THREAD_ENV = {
    "OMP_THREAD_LIMIT": "1",  # tesseract (OpenMP)
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def single_thread_env() -> dict[str, str]:
    """This process's environment with the caps, for a child program such as tesseract."""
    return {**os.environ, **SINGLE_THREAD_ENV}


def cap_openmp() -> None:
    """Before loading libtesseract into this process: its OpenMP runtime reads the thread
    cap from the environment once, when it is loaded (a worker has it from its start)."""
    for name in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, SINGLE_THREAD_ENV[name])


def pin_opencv() -> None:
    """OpenCV must not start a thread pool of its own next to the pages of other workers."""
    import cv2

    cv2.setNumThreads(1)


def pin_threads() -> None:
    """Cap this process's thread pools, and those of the programs it starts, at one thread.

    numpy's OpenBLAS is loaded before a worker runs anything of ours, so its pool is capped
    at run time (threadpoolctl), not by the environment."""
    from threadpoolctl import threadpool_limits

    os.environ.update(SINGLE_THREAD_ENV)
    pin_opencv()
    threadpool_limits(limits=1)
