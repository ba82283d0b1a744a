from vbcsim.frontends.cli import main

raise SystemExit(main())
