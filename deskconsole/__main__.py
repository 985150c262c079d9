from deskconsole.cli.main import main

raise SystemExit(main())
