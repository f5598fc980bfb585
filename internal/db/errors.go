package db

import (
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// errRetryable marks a transient conflict that a new transaction may not hit.
var errRetryable = errors.New("transient conflict")

// IsRetryable reports whether err is a transient conflict (deadlock, lock wait,
// serialization failure, busy SQLite database) worth retrying the transaction for.
func IsRetryable(err error) bool { return errors.Is(err, errRetryable) }

// IsDuplicate reports whether err is a unique or primary key violation.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }

// IsForeignKey reports whether err is a foreign key violation.
func IsForeignKey(err error) bool { return errors.Is(err, ErrForeignKey) }

// kindError keeps the engine's error as the cause and adds our sentinel kind.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string { return fmt.Sprintf("%v: %v", e.kind, e.err) }

func (e *kindError) Is(target error) bool { return target == e.kind }

func (e *kindError) Unwrap() error { return e.err }

// classify wraps an engine error with the sentinel of its kind, if it has one.
func classify(engine Engine, err error) error {
	if err == nil {
		return nil
	}
	kind := kindOf(engine, err)
	if kind == nil {
		return err
	}
	return &kindError{kind: kind, err: err}
}

func kindOf(engine Engine, err error) error {
	switch engine {
	case SQLite:
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return nil
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrDuplicate
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrForeignKey
		}
		if se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED {
			return errRetryable
		}
	case MySQL:
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return nil
		}
		switch me.Number {
		case 1062, 1586: // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
			return ErrDuplicate
		case 1451, 1452: // ER_ROW_IS_REFERENCED_2, ER_NO_REFERENCED_ROW_2
			return ErrForeignKey
		case 1213, 1205: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
			return errRetryable
		}
	case Postgres:
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return nil
		}
		switch pe.Code {
		case "23505":
			return ErrDuplicate
		case "23503":
			return ErrForeignKey
		case "40001", "40P01":
			return errRetryable
		}
	}
	return nil
}
