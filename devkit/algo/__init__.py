"""Small, exact, readable algorithms, each tested for identical results against the reference
implementation people trust (and benchmarked against it): `permutation`, `rbtree`, `bpe`,
`text`, `strided`. Pure Python; `bpe` uses `regex` for GPT-style pre-tokenization."""
