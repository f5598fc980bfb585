package identity

// CredentialStore keeps the rows of credentials (/v3/credentials) and EC2 credentials.
type CredentialStore interface{}
