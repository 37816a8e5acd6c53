//! Every jute record of the client protocol, field for field as in ZooKeeper's
//! `zookeeper.jute` (through 3.9).

use crate::jute_record;

jute_record! {
    /// An identity: `scheme` (world, auth, digest, ip, super, ...) and its `id`.
    pub struct Id { pub scheme: String, pub id: String }
}
jute_record! {
    pub struct Acl { pub perms: i32, pub id: Id }
}
jute_record! {
    /// Node metadata, exactly ZooKeeper's `Stat`.
    pub struct Stat {
        pub czxid: i64, pub mzxid: i64, pub ctime: i64, pub mtime: i64,
        pub version: i32, pub cversion: i32, pub aversion: i32,
        pub ephemeral_owner: i64, pub data_length: i32, pub num_children: i32,
        pub pzxid: i64,
    }
}
jute_record! {
    pub struct ClientInfo { pub auth_scheme: String, pub user: String }
}

jute_record! {
    /// Connect request without the trailing `readOnly` byte (44 bytes with an
    /// empty password... plus the password): see [`crate::ConnectRequest`].
    pub struct ConnectRequestBody {
        pub protocol_version: i32, pub last_zxid_seen: i64, pub time_out: i32,
        pub session_id: i64, pub passwd: Vec<u8>,
    }
}
jute_record! {
    pub struct ConnectResponseBody {
        pub protocol_version: i32, pub time_out: i32, pub session_id: i64, pub passwd: Vec<u8>,
    }
}
jute_record! {
    pub struct SetWatches {
        pub relative_zxid: i64, pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>, pub child_watches: Vec<String>,
    }
}
jute_record! {
    pub struct SetWatches2 {
        pub relative_zxid: i64, pub data_watches: Vec<String>,
        pub exist_watches: Vec<String>, pub child_watches: Vec<String>,
        pub persistent_watches: Vec<String>, pub persistent_recursive_watches: Vec<String>,
    }
}
jute_record! {
    pub struct RequestHeader { pub xid: i32, pub op_type: i32 }
}
jute_record! {
    pub struct MultiHeader { pub op_type: i32, pub done: bool, pub err: i32 }
}
jute_record! {
    pub struct AuthPacket { pub auth_type: i32, pub scheme: String, pub auth: Vec<u8> }
}
jute_record! {
    pub struct ReplyHeader { pub xid: i32, pub zxid: i64, pub err: i32 }
}
jute_record! {
    pub struct GetDataRequest { pub path: String, pub watch: bool }
}
jute_record! {
    pub struct SetDataRequest { pub path: String, pub data: Option<Vec<u8>>, pub version: i32 }
}
jute_record! {
    pub struct ReconfigRequest {
        pub joining_servers: String, pub leaving_servers: String,
        pub new_members: String, pub cur_config_id: i64,
    }
}
jute_record! {
    pub struct SetDataResponse { pub stat: Stat }
}
jute_record! {
    pub struct GetSaslRequest { pub token: Vec<u8> }
}
jute_record! {
    pub struct SetSaslResponse { pub token: Vec<u8> }
}
jute_record! {
    pub struct CreateRequest { pub path: String, pub data: Option<Vec<u8>>, pub acl: Vec<Acl>, pub flags: i32 }
}
jute_record! {
    pub struct CreateTtlRequest {
        pub path: String, pub data: Option<Vec<u8>>, pub acl: Vec<Acl>, pub flags: i32, pub ttl: i64,
    }
}
jute_record! {
    pub struct DeleteRequest { pub path: String, pub version: i32 }
}
jute_record! {
    pub struct GetChildrenRequest { pub path: String, pub watch: bool }
}
jute_record! {
    pub struct GetAllChildrenNumberRequest { pub path: String }
}
jute_record! {
    pub struct CheckVersionRequest { pub path: String, pub version: i32 }
}
jute_record! {
    pub struct SyncRequest { pub path: String }
}
jute_record! {
    pub struct SyncResponse { pub path: String }
}
jute_record! {
    pub struct GetAclRequest { pub path: String }
}
jute_record! {
    pub struct SetAclRequest { pub path: String, pub acl: Vec<Acl>, pub version: i32 }
}
jute_record! {
    pub struct SetAclResponse { pub stat: Stat }
}
jute_record! {
    pub struct AddWatchRequest { pub path: String, pub mode: i32 }
}
jute_record! {
    pub struct WatcherEvent { pub event_type: i32, pub state: i32, pub path: String }
}
jute_record! {
    pub struct ErrorResponse { pub err: i32 }
}
jute_record! {
    pub struct CreateResponse { pub path: String }
}
jute_record! {
    pub struct Create2Response { pub path: String, pub stat: Stat }
}
jute_record! {
    pub struct ExistsRequest { pub path: String, pub watch: bool }
}
jute_record! {
    pub struct ExistsResponse { pub stat: Stat }
}
jute_record! {
    pub struct GetDataResponse { pub data: Option<Vec<u8>>, pub stat: Stat }
}
jute_record! {
    pub struct GetChildrenResponse { pub children: Vec<String> }
}
jute_record! {
    pub struct GetAllChildrenNumberResponse { pub total_number: i32 }
}
jute_record! {
    pub struct GetChildren2Response { pub children: Vec<String>, pub stat: Stat }
}
jute_record! {
    pub struct GetAclResponse { pub acl: Vec<Acl>, pub stat: Stat }
}
jute_record! {
    pub struct CheckWatchesRequest { pub path: String, pub watcher_type: i32 }
}
jute_record! {
    pub struct RemoveWatchesRequest { pub path: String, pub watcher_type: i32 }
}
jute_record! {
    pub struct GetEphemeralsRequest { pub prefix_path: String }
}
jute_record! {
    pub struct GetEphemeralsResponse { pub ephemerals: Vec<String> }
}
jute_record! {
    pub struct WhoAmIResponse { pub client_info: Vec<ClientInfo> }
}
