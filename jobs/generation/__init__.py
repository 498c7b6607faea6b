"""Generation of a dApp project, one module per stage, orchestrated by `jobs.pipeline`.

render (text files from the template) → compile (solc-js, cached) → deploy (in-process EVM)
→ smoke (the template's smoke test) → package (zip with sources, artifacts and tests).
`toolchain` runs the Node.js child that compiles and hosts the EVM; `timings` keeps the
measured step durations that the ETAs come from.
"""
