package scheduler

import (
	"slices"
	"strconv"
	"strings"
)

// matchSpec tells whether value satisfies the extra spec requirement req, in
// nova's operator language: "= 4" (at least 4), "== 4", "!= 4", ">= 4",
// "<= 4", "s== x", "s!= x", "s< x", "s<= x", "s> x", "s>= x", "<in> x"
// (substring), "<all-in> x y" (all substrings), "<or> a <or> b"; anything
// else must equal value exactly. Numeric operators fail on values that are
// not numbers, where nova would raise.
func matchSpec(value, req string) bool {
	r := parseSpec(req)
	return r.match(value)
}

// specReq is an extra spec requirement parsed once per request, so that
// checking a host does no string splitting or number parsing of it.
type specReq struct {
	raw string
	// op is the operator; "" requires value to equal raw.
	op   string
	args []string
	// never is an operator without an argument, which nothing satisfies.
	never bool
	// num is the argument of a numeric operator; numOK false when it is
	// not a number, which nothing satisfies either.
	num   float64
	numOK bool
}

func parseSpec(req string) specReq {
	r := specReq{raw: req}
	words := strings.Fields(req)
	if len(words) == 0 {
		return r
	}
	op, args := words[0], words[1:]
	if op == "<or>" {
		// The alternatives are every other word: "<or> a <or> b".
		r.op = op
		for i := 0; i < len(args); i += 2 {
			r.args = append(r.args, args[i])
		}
		return r
	}
	if !isSpecOp(op) {
		return r
	}
	r.op, r.args = op, args
	if len(args) == 0 {
		r.never = true
		return r
	}
	switch op {
	case "=", "==", "!=", ">=", "<=":
		y, err := strconv.ParseFloat(args[0], 64)
		r.num, r.numOK = y, err == nil
	}
	return r
}

// match tells whether value satisfies the requirement.
func (r *specReq) match(value string) bool {
	switch {
	case r.op == "":
		return value == r.raw
	case r.never:
		return false
	}
	arg := ""
	if len(r.args) > 0 {
		arg = r.args[0]
	}
	switch r.op {
	case "<or>":
		return slices.Contains(r.args, value)
	case "<in>":
		return strings.Contains(value, arg)
	case "<all-in>":
		for _, a := range r.args {
			if !strings.Contains(value, a) {
				return false
			}
		}
		return true
	case "s==":
		return value == arg
	case "s!=":
		return value != arg
	case "s<":
		return value < arg
	case "s<=":
		return value <= arg
	case "s>":
		return value > arg
	case "s>=":
		return value >= arg
	}
	if !r.numOK {
		return false
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return false
	}
	y := r.num
	switch r.op {
	case "=", ">=":
		return x >= y
	case "==":
		return x == y
	case "!=":
		return x != y
	case "<=":
		return x <= y
	}
	return false
}

func isSpecOp(op string) bool {
	switch op {
	case "=", "<in>", "<all-in>", "==", "!=", ">=", "<=", "s==", "s!=", "s<", "s<=", "s>", "s>=":
		return true
	}
	return false
}
