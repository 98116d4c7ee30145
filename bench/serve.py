"""Alias of bench/service.py (issue 4 calls it bench/serve.py): same options, same figures.

python bench/serve.py --model models/default
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service import main

if __name__ == "__main__":
    main()
