from deskconsole.cli.entry import run

run()
