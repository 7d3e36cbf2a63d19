// Package calendar owns working-day arithmetic: the working hours of each
// weekday, weekends, public holidays and agency closures, and the two
// questions every SLA clock asks of them — how much working time lies between
// two instants (WorkingDays) and when a given amount of it will have elapsed
// (Due).
//
// Working time is measured in fractional working days. Every working day is
// worth exactly 1.0 whatever its length, so a short Friday weighs the same as
// a long Monday, and an instant inside a day's working hours splits that day
// in proportion to the time elapsed. Time outside working hours counts
// nothing.
//
// The package is pure: it reads no clock, opens no database and does no I/O
// beyond parsing the Singapore holiday list embedded in the binary. Callers
// pass "now", the time zone and the holiday list in, so the SLA rules built
// on it can be tested with tables of instants and replayed exactly, and a
// Calendar, once built, is immutable and safe for concurrent use.
//
// Both WorkingDays and Due run in constant or logarithmic time over spans of
// any length: New precomputes a running count of working days for every date
// from 1970 to 2200 (widened to cover every holiday it is given), and dates
// outside that table fall back to whole-week arithmetic.
package calendar
