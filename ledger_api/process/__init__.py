"""The processes: wiring of the long-lived parts (`runtime`), which process runs what and
how they report (`supervision`), the sender lock (`lock`) and thread plumbing (`threads`)."""
