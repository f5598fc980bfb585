package compute

import (
	"context"
	"errors"
)

// ConsoleConnection is where a console auth token leads: nova's
// ConsoleAuthToken as GET /os-console-auth-tokens/{console_token} shows it.
type ConsoleConnection struct {
	InstanceUUID string
	// ConsoleType is "novnc".
	ConsoleType string
	Host        string
	Port        int
	// InternalAccessPath is "" for none.
	InternalAccessPath string
}

// ConsoleTokens looks up console auth tokens, which the console service
// keeps; an unknown or expired token is ErrNotFound.
type ConsoleTokens interface {
	ConsoleConnection(ctx context.Context, token string) (ConsoleConnection, error)
}

// ConsoleAuthToken shows where a console auth token leads, for admins (GET
// /os-console-auth-tokens/{console_token}, microversion 2.31 and later).
func (s *Service) ConsoleAuthToken(ctx context.Context, token string) (ConsoleConnection, error) {
	c, err := caller(ctx)
	if err != nil {
		return ConsoleConnection{}, err
	}
	if err := s.authorize(ctx, RuleConsoleAuthTokens, callerTarget(c)); err != nil {
		return ConsoleConnection{}, err
	}
	if token == "" {
		return ConsoleConnection{}, errorf(ErrInvalid, "token not provided")
	}
	if s.consoles == nil {
		return ConsoleConnection{}, errorf(ErrNotFound, "Token not found")
	}
	conn, err := s.consoles.ConsoleConnection(ctx, token)
	switch {
	case errors.Is(err, ErrNotFound):
		return ConsoleConnection{}, errorf(ErrNotFound, "Token not found")
	case err != nil:
		return ConsoleConnection{}, err
	}
	return conn, nil
}
