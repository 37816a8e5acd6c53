/* corral_ffi.h: corral.h for PHP FFI::cdef (generated). */
typedef enum corral_code {
  CORRAL_OK = 0,
  CORRAL_ZSYSTEMERROR = -1,
  CORRAL_ZRUNTIMEINCONSISTENCY = -2,
  CORRAL_ZDATAINCONSISTENCY = -3,
  CORRAL_ZCONNECTIONLOSS = -4,
  CORRAL_ZMARSHALLINGERROR = -5,
  CORRAL_ZUNIMPLEMENTED = -6,
  CORRAL_ZOPERATIONTIMEOUT = -7,
  CORRAL_ZBADARGUMENTS = -8,
  CORRAL_ZUNKNOWNSESSION = -12,
  CORRAL_ZNEWCONFIGNOQUORUM = -13,
  CORRAL_ZRECONFIGINPROGRESS = -14,
  CORRAL_ZAPIERROR = -100,
  CORRAL_ZNONODE = -101,
  CORRAL_ZNOAUTH = -102,
  CORRAL_ZBADVERSION = -103,
  CORRAL_ZNOCHILDRENFOREPHEMERALS = -108,
  CORRAL_ZNODEEXISTS = -110,
  CORRAL_ZNOTEMPTY = -111,
  CORRAL_ZSESSIONEXPIRED = -112,
  CORRAL_ZINVALIDCALLBACK = -113,
  CORRAL_ZINVALIDACL = -114,
  CORRAL_ZAUTHFAILED = -115,
  CORRAL_ZSESSIONMOVED = -118,
  CORRAL_ZNOTREADONLY = -119,
  CORRAL_ZEPHEMERALONLOCALSESSION = -120,
  CORRAL_ZNOWATCHER = -121,
  CORRAL_ZREQUESTTIMEOUT = -122,
  CORRAL_ZRECONFIGDISABLED = -123,
  CORRAL_ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
  CORRAL_ZQUOTAEXCEEDED = -125,
  CORRAL_ZTHROTTLEDOP = -127,
  CORRAL_EINVAL = 1,
  CORRAL_ETIMEOUT = 2,
  CORRAL_EPANIC = 3,
  CORRAL_ECLOSED = 4,
} corral_code;

typedef enum corral_create_flags {
  CORRAL_PERSISTENT = 0,
  CORRAL_EPHEMERAL = 1,
  CORRAL_SEQUENCE = 2,
  CORRAL_CONTAINER = 4,
} corral_create_flags;

typedef enum corral_event_type {
  CORRAL_SESSION_EVENT = -1,
  CORRAL_CREATED_EVENT = 1,
  CORRAL_DELETED_EVENT = 2,
  CORRAL_CHANGED_EVENT = 3,
  CORRAL_CHILD_EVENT = 4,
  CORRAL_DATA_WATCH_REMOVED_EVENT = 5,
  CORRAL_CHILD_WATCH_REMOVED_EVENT = 6,
  CORRAL_PERSISTENT_WATCH_REMOVED_EVENT = 7,
} corral_event_type;

typedef enum corral_state {
  CORRAL_DISCONNECTED_STATE = 0,
  CORRAL_CONNECTED_STATE = 3,
  CORRAL_AUTH_FAILED_STATE = 4,
  CORRAL_CONNECTED_READONLY_STATE = 5,
  CORRAL_CLOSED_STATE = 7,
  CORRAL_EXPIRED_SESSION_STATE = -112,
} corral_state;

typedef enum corral_op_type {
  CORRAL_OP_CREATE = 1,
  CORRAL_OP_DELETE = 2,
  CORRAL_OP_SET = 5,
  CORRAL_OP_CHECK = 13,
} corral_op_type;

typedef enum corral_perm {
  CORRAL_PERM_READ = 1,
  CORRAL_PERM_WRITE = 2,
  CORRAL_PERM_CREATE = 4,
  CORRAL_PERM_DELETE = 8,
  CORRAL_PERM_ADMIN = 16,
  CORRAL_PERM_ALL = 31,
} corral_perm;

typedef struct corral_client corral_client;

typedef struct corral_lock corral_lock;

typedef int32_t corral_result;

typedef struct corral_event {
  int32_t type;
  int32_t state;
  char *path;
} corral_event;

typedef struct corral_acl {
  int32_t perms;
  const char *scheme;
  const char *id;
} corral_acl;

typedef struct corral_bytes {
  uint8_t *data;
  size_t len;
} corral_bytes;

typedef struct corral_stat {
  int64_t czxid;
  int64_t mzxid;
  int64_t ctime;
  int64_t mtime;
  int32_t version;
  int32_t cversion;
  int32_t aversion;
  int64_t ephemeral_owner;
  int32_t data_length;
  int32_t num_children;
  int64_t pzxid;
} corral_stat;

typedef struct corral_strings {
  char **items;
  size_t len;
} corral_strings;

typedef struct corral_acls {
  struct corral_acl *items;
  size_t len;
} corral_acls;

typedef struct corral_op {
  int32_t type;
  const char *path;
  const uint8_t *data;
  size_t len;
  int32_t version;
  int32_t flags;
} corral_op;

typedef struct corral_op_result {
  int32_t err;
  char *path;
  struct corral_stat stat;
} corral_op_result;

corral_result corral_client_connect(const char *hosts,
                                    int32_t session_timeout_ms,
                                    struct corral_client **client_out);
corral_result corral_client_close(struct corral_client *client);

void corral_client_free(struct corral_client *client);

corral_result corral_client_state(const struct corral_client *client, int32_t *state);

corral_result corral_client_session(const struct corral_client *client,
                                    int64_t *session_id,
                                    int32_t *timeout_ms,
                                    uint8_t *passwd,
                                    size_t passwd_cap,
                                    size_t *passwd_len);
corral_result corral_add_auth(const struct corral_client *client,
                              const char *scheme,
                              const uint8_t *cert,
                              size_t cert_len);
corral_result corral_poll_event(const struct corral_client *client,
                                int32_t timeout_ms,
                                struct corral_event *event);
corral_result corral_event_fd(const struct corral_client *client, int32_t *fd);

const char *corral_strerror(corral_result code);

corral_result corral_last_error(const struct corral_client *client,
                                char *buf,
                                size_t cap,
                                size_t *len);
void corral_event_free(struct corral_event *event);

corral_result corral_lock_acquire(const struct corral_client *client,
                                  const char *path,
                                  int32_t timeout_ms,
                                  struct corral_lock **lock_out);
corral_result corral_lock_release(struct corral_lock *lock);

corral_result corral_create(const struct corral_client *client,
                            const char *path,
                            const uint8_t *data,
                            size_t len,
                            int32_t flags,
                            char *path_out,
                            size_t path_cap);
corral_result corral_create_with_acl(const struct corral_client *client,
                                     const char *path,
                                     const uint8_t *data,
                                     size_t len,
                                     const struct corral_acl *acl,
                                     size_t acl_len,
                                     int32_t flags,
                                     char *path_out,
                                     size_t path_cap);
corral_result corral_get(const struct corral_client *client,
                         const char *path,
                         bool watch,
                         struct corral_bytes *bytes,
                         struct corral_stat *stat);
corral_result corral_set(const struct corral_client *client,
                         const char *path,
                         const uint8_t *data,
                         size_t len,
                         int32_t version,
                         struct corral_stat *stat);
corral_result corral_delete(const struct corral_client *client, const char *path, int32_t version);

corral_result corral_exists(const struct corral_client *client,
                            const char *path,
                            bool watch,
                            struct corral_stat *stat);
corral_result corral_get_children(const struct corral_client *client,
                                  const char *path,
                                  bool watch,
                                  struct corral_strings *children);
corral_result corral_get_acl(const struct corral_client *client,
                             const char *path,
                             struct corral_acls *acl,
                             struct corral_stat *stat);
corral_result corral_set_acl(const struct corral_client *client,
                             const char *path,
                             int32_t version,
                             const struct corral_acl *acl,
                             size_t acl_len,
                             struct corral_stat *stat);
corral_result corral_multi(const struct corral_client *client,
                           const struct corral_op *ops,
                           size_t n,
                           struct corral_op_result *results);
void corral_op_results_free(struct corral_op_result *results, size_t n);

void corral_bytes_free(struct corral_bytes *bytes);

void corral_strings_free(struct corral_strings *strings);

void corral_acls_free(struct corral_acls *acls);

