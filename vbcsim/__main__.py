from vbcsim.cli import main

raise SystemExit(main())
