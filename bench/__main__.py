"""python -m bench: see bench/run.py."""
import sys

from bench.run import main

if __name__ == "__main__":  # the trainer's worker processes import the main module (multiprocessing's rule)
    sys.exit(main())
