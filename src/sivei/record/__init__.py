"""The election record: its on-disk format, its writer and reader, and the offline verifier."""
