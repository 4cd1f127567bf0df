//! Planning: HAD route and car following, lane changes, Frenet sampling, and AES.
