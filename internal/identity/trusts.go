package identity

// TrustStore keeps the rows of trusts (OS-TRUST).
type TrustStore interface{}
