from archbench.cli import main

main()
