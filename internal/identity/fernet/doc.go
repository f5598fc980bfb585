// Package fernet issues and validates Keystone-style Fernet tokens and keeps
// the Fernet key repository they are signed with.
//
// The key repository follows keystone's [fernet_tokens] key_repository: a
// directory of files named by integer index, each holding one urlsafe-base64
// 32-byte Fernet key. Key 0 is the staged key (the next primary), the highest
// index is the primary that signs new tokens, and anything in between is a
// secondary that only validates. KeyRepository.Setup and KeyRepository.Rotate
// behave like keystone-manage fernet_setup and fernet_rotate.
//
// A token is a Fernet token (https://github.com/fernet/spec) with its base64
// padding stripped, as keystone does. The Fernet timestamp carries the issue
// time in seconds; the encrypted message is our own compact binary payload,
// described in payload.go, that starts with a format version byte.
package fernet
