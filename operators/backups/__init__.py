"""Backups and restores of the whole platform or one tenant (`manage.py backup` / `restore`).

postgres (pg_dump/pg_restore of the server's version), destinations (a directory or an S3
bucket), manifest (what a backup holds, checksums, the code it needs), create, restore, and
history (the admin's list of backups and the freshness gauge). docs/operations.md "Backups".
"""
