"""``python -m deltagrad.torch_compat script.py [args...]``: run a PyTorch program on
deltagrad (see ``deltagrad.torch_compat``)."""
import sys

from . import run_script


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m deltagrad.torch_compat script.py [args...]\n\nRun a PyTorch "
              "program with 'import torch' resolving to deltagrad.", file=sys.stderr)
        return 0 if argv else 2
    try:
        run_script(argv[0], argv[1:])
    except FileNotFoundError as e:
        if e.filename is None and str(e).startswith("run-torch"):
            print(f"deltagrad.torch_compat: {e}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
