from interviewer.cli import main

if __name__ == "__main__":  # a process spawned by calibrate imports this module too
    main()
