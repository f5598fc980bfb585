package identity

// ExtrasStore keeps the rows of domain configuration, endpoint groups, policies and OAuth1 consumers.
type ExtrasStore interface{}
