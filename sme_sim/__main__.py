from sme_sim.cli import main

raise SystemExit(main())
