package identity

// ComplianceStore keeps the rows of security compliance (password history, lockout) and access rules.
type ComplianceStore interface{}
