"""Front ends: figures (:mod:`~vbcsim.frontends.plot`), the TOML configuration
(:mod:`~vbcsim.frontends.config`) and the command line (:mod:`~vbcsim.frontends.cli`)."""
