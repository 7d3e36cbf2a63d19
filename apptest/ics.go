package apptest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// ClosuresICS returns an iCalendar file of closures of 31 days each, at
// days drawn from 1990–2199, as large as a legitimate import may be: it
// grows by events until the next one would pass size bytes.
func ClosuresICS(size int) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Agency//Closures//EN\r\n")
	const tail = "END:VCALENDAR\r\n"
	r := rand.New(rand.NewPCG(1, 2))
	first := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int(time.Date(2199, 12, 1, 0, 0, 0, 0, time.UTC).Sub(first).Hours() / 24)
	for i := 1; ; i++ {
		start := first.AddDate(0, 0, r.IntN(span))
		ev := fmt.Sprintf("BEGIN:VEVENT\r\nUID:%d@x\r\nDTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\nSUMMARY:Closure %d\r\nEND:VEVENT\r\n",
			i, start.Format("20060102"), start.AddDate(0, 0, 31).Format("20060102"), i)
		if b.Len()+len(ev)+len(tail) > size {
			break
		}
		b.WriteString(ev)
	}
	b.WriteString(tail)
	return b.String()
}
