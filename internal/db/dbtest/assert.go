package dbtest

import (
	"errors"
	"reflect"
	"testing"
)

// Must fails the test at once on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// WantErr checks that err is (or wraps) target; a nil target wants no error.
func WantErr(t testing.TB, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("error = %v, want %v", err, target)
	}
}

// Same fails when got and want differ.
func Same[T any](t testing.TB, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
