/*
 * The audit log's batch durability (audit.sync "batch"): lines are written
 * before their effect, and a background thread fdatasyncs the log at most
 * once a second and once more when the log is closed.
 */
#ifndef AIRLOCK_AUDIT_SYNC_H
#define AIRLOCK_AUDIT_SYNC_H

struct audit_syncer;

/* A syncer for the descriptor FD (not owned); its thread starts at the first kick. */
struct audit_syncer *audit_syncer_new(int fd);

/*
 * Says a line needs to reach the disk. Returns 0, or -errno when no thread
 * could be started and the synchronous fdatasync it then makes failed.
 */
int audit_syncer_kick(struct audit_syncer *s);

/* The -errno of a background fdatasync that failed (it stays), else 0. */
int audit_syncer_error(struct audit_syncer *s);

/* Syncs what is pending, ends the thread and frees S (NULL is fine); -errno on a failure. */
int audit_syncer_free(struct audit_syncer *s);

#endif
