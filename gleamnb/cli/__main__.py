"""``python -m gleamnb.cli``: the ``gleamnb`` command without its console script."""

from __future__ import annotations

from gleamnb.cli.main import main

if __name__ == "__main__":
    main()
