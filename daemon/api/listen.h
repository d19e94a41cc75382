/* Internal to daemon/api/: the listening sockets and the token files. */
#ifndef JW_API_LISTEN_H
#define JW_API_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

/* A unix socket at path, mode 0660 from the start; a stale socket file is
 * replaced, a live one (someone accepts on it) is not.  *dev and *ino identify
 * the file so only our own is removed at exit.  Logs its errors. */
int api_listen_unix(const char *path, dev_t *dev, ino_t *ino, int *ret_fd);
/* A TCP socket on host:port ("*" or empty: every address); *bound_port is
 * the port actually bound (for port 0).  Logs its errors. */
int api_listen_tcp(const char *host, unsigned port, unsigned *bound_port, int *ret_fd);
/* Reads a one-line token file (what names it in messages: "token_file").
 * *ret is freed with secret_free().  Logs its errors, never the token. */
int api_read_token(const char *path, const char *what, char **ret);

#endif
