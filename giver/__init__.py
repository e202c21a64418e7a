"""The Giver: the daemon a volunteer runs to lend a machine to Seekers."""
