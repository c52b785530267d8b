"""Speed and memory benchmarks, and the plain-Mesa reference model."""
