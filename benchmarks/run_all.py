"""`make bench`: every measured table the project reports, in one run."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_attention  # noqa: E402
import bench_layers  # noqa: E402
import chapter_times  # noqa: E402
import live_views  # noqa: E402
import page_weight  # noqa: E402


def main() -> int:
    chapter_times.main([])
    print()
    bench_attention.main()
    print()
    bench_layers.main([])
    print()
    page_weight.main()
    print()
    live_views.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
