package publisher

import (
	"context"
	"log/slog"
)

// The review gate keeps from subscribers every issue the publisher has and
// has not sent, and every retracted issue: Publisher.update withholds an
// issue before the first record that hides it is written and releases it
// after the record of its accepted broadcast. The inbox withholds a new
// issue before the loader shows it, and syncGate repairs what a crash
// between the two writes, or a lost Redis, left behind.

// withholdNew keeps a new or changed inbox issue out of the chat before
// the loader puts it in the archive. A sent issue stays visible: an edit
// after the send is refused, the sent version is what subscribers see.
func (p *Publisher) withholdNew(ctx context.Context, n int) {
	if p.arch == nil {
		return
	}
	rec, err := p.load(ctx, n)
	if err == nil && rec != nil && rec.visible() {
		return
	}
	if err := p.arch.Withhold(ctx, n, WithheldWhy(rec)); err != nil {
		p.log.Warn("publisher: inbox: could not withhold a new issue from the chat", "issue", n, slog.Any("error", err))
	}
}

// WithheldWhy is the gate's reason for a record that is not visible (nil:
// an issue about to enter the pipeline).
func WithheldWhy(rec *Record) string {
	if rec == nil {
		return (&Record{}).withheldWhy()
	}
	return rec.withheldWhy()
}

// syncGate makes the archive's gate agree with the pipeline's records:
// withheld exactly when not visible. It writes only what differs.
func (p *Publisher) syncGate(ctx context.Context) {
	if p.arch == nil {
		return
	}
	recs, err := p.List(ctx)
	if err != nil {
		return
	}
	snap := p.arch.Current()
	for _, rec := range recs {
		why, withheld := snap.Withheld(rec.Number)
		switch {
		case rec.visible() && withheld:
			err = p.arch.Release(ctx, rec.Number)
		case !rec.visible() && (!withheld || why != rec.withheldWhy()):
			err = p.arch.Withhold(ctx, rec.Number, rec.withheldWhy())
		default:
			continue
		}
		if err != nil {
			p.log.Warn("publisher: review gate: could not update the chat's view", "issue", rec.Number, slog.Any("error", err))
			return
		}
	}
}
