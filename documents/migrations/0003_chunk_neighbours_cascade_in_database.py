"""The neighbour list's foreign key cascades in PostgreSQL itself, not only in Django.

A compaction writes neighbour lists while documents may be deleted or re-ingested. Django's
cascade deletes the lists it can see when it deletes chunks; a list written by a compaction
that committed in between was invisible to it, so the deleting transaction failed on the
foreign key at commit (a user's delete answered 500). With ON DELETE CASCADE in the
database, deleting a chunk removes whatever list names it, however it got there.
"""

from django.db import migrations

TO_CASCADE = """
DO $$
DECLARE existing text;
BEGIN
    FOR existing IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'documents_chunkneighbours'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE documents_chunkneighbours DROP CONSTRAINT %I', existing);
    END LOOP;
END $$;
ALTER TABLE documents_chunkneighbours ADD CONSTRAINT documents_chunkneighbours_chunk_id_cascade
    FOREIGN KEY (chunk_id) REFERENCES documents_chunk (id)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
"""

BACK = """
ALTER TABLE documents_chunkneighbours DROP CONSTRAINT documents_chunkneighbours_chunk_id_cascade;
ALTER TABLE documents_chunkneighbours ADD CONSTRAINT documents_chunkneighbours_chunk_id_fk
    FOREIGN KEY (chunk_id) REFERENCES documents_chunk (id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [("documents", "0002_chunk_neighbours")]

    operations = [migrations.RunSQL(TO_CASCADE, BACK)]
