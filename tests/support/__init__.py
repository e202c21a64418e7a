"""What the tests share besides fixtures, by concern (test modules import from
here, never from conftest or from one another): `base`, `api`, `docker`,
`processes`, `results`, `givers`, `browser`, `indexes` (whether an index
serves each MongoDB query), and the test rigs of the key manager (`rig`) and of
the coordinator (`coordinator_rig`)."""
