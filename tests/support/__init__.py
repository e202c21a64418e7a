"""What the tests share besides fixtures, by concern (test modules import from
here, never from conftest or from one another): `base`, `api`, `docker`,
`processes`, `results`, `givers`, `browser` and `indexes` (whether an index
serves each MongoDB query)."""
