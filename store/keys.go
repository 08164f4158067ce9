package store

import "strconv"

// Keys builds every Redis key wxbot uses. All keys start with Prefix
// (redis.prefix, "wxbot:" by default). The part in braces is the Redis
// Cluster hash tag: keys that one operation touches together share it.
//
// Layout (P = prefix):
//
//	P{u:OPENID}:s                   str   chat session: "PAGE:QUERY" of the
//	                                      search being paged (bot/dedupe.go)       TTL bot.session_ttl
//	P{u:OPENID}:prefs               hash  language and topic preferences          no TTL
//	P{u:OPENID}:d:ID                str   claim, then what identifies the reply
//	                                      (≤ 18 bytes, bot/dedupe.go)             TTL bot.dedupe_ttl
//	P{r:DIGEST}                     str   a reply body shared by the dedupe keys
//	                                      that name its digest                    TTL 2 × bot.dedupe_ttl
//	P{u:OPENID}:tags                set   WeChat tag names mirrored to the user   no TTL
//	P{archive}:issues               hash  issue number → issue JSON               no TTL
//	P{archive}:urls                 hash  issue number → published article URLs   no TTL
//	P{archive}:version              str   bumped on every archive change          no TTL
//	P{archive}:pinned               hash  issue number → JSON of a broadcast issue that
//	                                      is kept though no inbox file holds it   no TTL
//	P{archive}:withheld             hash  issue number → why subscribers do not see
//	                                      it (unsent, retracted): the review gate no TTL
//	P{qr}:campaigns                 hash  scene → campaign JSON                   no TTL
//	P{qr}:gained:SCENE              set   openids who followed through SCENE      no TTL
//	P{qr}:following                 set   openids following now                   no TTL
//	P{qr}:scanned:SCENE             set   openids who followed or scanned SCENE   no TTL
//	P{qr}:scenes                    set   every scene seen or created             no TTL
//	P{tags}:queue                   list  pending tag operations (durable)        no TTL
//	P{tags}:processing              list  the batch being applied to WeChat       no TTL
//	P{tags}:worker                  str   replica draining the tag queue          TTL 30s
//	P{tags}:ids                     hash  tag name → WeChat tag id                no TTL
//	P{publish}:issue:N              hash  pipeline state of issue N (state, hashes,
//	                                      draft, msg_id, counts, history, rev)    no TTL
//	P{publish}:issues               set   numbers of the issues in the pipeline   no TTL
//	P{publish}:schedule             zset  issue number → time of the leader's next
//	                                      action on it: send, retry, poll (ms)    no TTL
//	P{publish}:leader               str   scheduler lock holder                   TTL publish.lock_ttl
//	P{publish}:fence                str   fencing token, incremented per leader   no TTL
//	P{publish}:epoch                str   random id set once: gone or changed
//	                                      means Redis lost the publisher's data   no TTL
//	P{publish}:polls:ENDPOINT:DAY   str   outcome polls of an endpoint that
//	                                      Beijing day (WeChat's daily quota)      TTL 48h
//	P{publish}:lock:N               str   holder of issue N's pipeline lock       TTL publish.lock_ttl
//	P{publish}:msg:MSGID            str   mass-send msg_id → issue number         no TTL
//	P{publish}:job:PUBLISHID        str   freepublish publish_id → issue number   no TTL
//	P{publish}:early                hash  job events that came before their id was
//	                                      recorded: KIND:ID (KIND msg or job) →
//	                                      JSON; at most 32, each ≤ 4 KB           TTL 1 h
//	P{publish}:early:at             zset  KIND:ID → when it came (ms)             TTL 1 h
//	P{publish}:sent:DAY             str   broadcasts sent that day (quota)        TTL 48h
//	P{publish}:media                hash  upload cache: KIND:sha256 → URL or
//	                                      media_id JSON                           no TTL
//	P{publish}:inbox                hash  inbox file → JSON of its parse problem  no TTL
//	P{publish}:inbox:seen           hash  inbox file → content hash handled;
//	                                      !notified:FILE → content editors were told of  no TTL
//	P{admin}:session:SHA256         str   an /admin login session, JSON, keyed by the
//	                                      SHA-256 of its cookie (never the cookie)  TTL admin.session_ttl
//	P{admin}:fail:CLIENT            str   failed /admin logins from a client IP
//	                                      (an IPv6 client by its /64)             TTL 1m
//	P{readership}:articles:DAY      hash  msgid → that day's article figures JSON
//	                                      (datacube getarticlesummary)            no TTL
//	P{readership}:totals            hash  msgid → the article's figures per day
//	                                      since its send JSON (getarticletotal)   no TTL
//	P{readership}:users:DAY         hash  read|share|summary|cumulate → that day's
//	                                      account figures JSON (getuser*)         no TTL
//	P{readership}:days              set   days collected in full                  no TTL
//	P{readership}:ran:DAY           str   replica that ran the day's collection   TTL 26h
//	P{readership}:topics            str   followers per topic tag (tags/get) JSON no TTL
//	P{notify}:sent:ID               str   claim of notice ID: one replica sends it  TTL 24h
//	P{notify}:failures:CHANNEL      list  last delivery failures of a notice
//	                                      channel (wecom, smtp, wechat), JSON, ≤ 20  no TTL
//	P{notify}:closed                hash  admin openid → JSON {code, at}: WeChat refused
//	                                      customer-service messages (45015, 45047) no TTL
//	Ptoken:APPID                    str   shared access_token                     TTL from WeChat
//	Ptoken:APPID:lock               str   replica fetching a new access_token     TTL 30s
//	Ptoken:APPID:plain              str   the token from cgi-bin/token, kept apart
//	                                      from stable_token's                     TTL from WeChat
//	Ptoken:APPID:plain:lock         str   replica fetching a new plain token      TTL 30s
type Keys struct {
	Prefix string
}

func (k Keys) user(openid, what string) string { return k.Prefix + "{u:" + openid + "}:" + what }

// Session is a subscriber's chat session: one string, written with one
// command (SET … PX) on the hot path. (Before the string, a hash under
// ":session"; a replica never reads that name, and old ones expire.)
func (k Keys) Session(openid string) string { return k.user(openid, "s") }

// Prefs holds a subscriber's language and topic preferences.
func (k Keys) Prefs(openid string) string { return k.user(openid, "prefs") }

// Dedupe is the claim and stored reply of one WeChat message or event.
// The name is short on purpose: Redis keeps one per message for
// bot.dedupe_ttl, and with the default prefix the whole key stays within
// Redis's 64-byte allocation class (the bot's memory test checks it).
func (k Keys) Dedupe(openid, id string) string { return k.user(openid, "d:"+id) }

// ReplyBody is a reply body (the part that is the same for every
// subscriber) held once for all the dedupe keys naming its digest.
func (k Keys) ReplyBody(digest string) string { return k.Prefix + "{r:" + digest + "}" }

// UserTags holds the WeChat tag names wxbot mirrored to a subscriber.
func (k Keys) UserTags(openid string) string { return k.user(openid, "tags") }

// ArchiveIssues maps issue numbers to parsed issues.
func (k Keys) ArchiveIssues() string { return k.Prefix + "{archive}:issues" }

// ArchiveURLs maps issue numbers to their published article URLs.
func (k Keys) ArchiveURLs() string { return k.Prefix + "{archive}:urls" }

// ArchivePinned holds issues the publisher broadcast, kept in the archive
// even when no inbox file holds them.
func (k Keys) ArchivePinned() string { return k.Prefix + "{archive}:pinned" }

// ArchiveWithheld maps the numbers of issues subscribers must not see
// (the publisher has them and has not sent them, or they were retracted)
// to the reason: the review gate.
func (k Keys) ArchiveWithheld() string { return k.Prefix + "{archive}:withheld" }

// ArchiveVersion changes whenever the archive does.
func (k Keys) ArchiveVersion() string { return k.Prefix + "{archive}:version" }

// QRCampaigns maps a scene to its recorded campaign.
func (k Keys) QRCampaigns() string { return k.Prefix + "{qr}:campaigns" }

// QRGained holds the openids that followed through a scene.
func (k Keys) QRGained(scene string) string { return k.Prefix + "{qr}:gained:" + scene }

// QRFollowing holds the openids that follow the account now.
func (k Keys) QRFollowing() string { return k.Prefix + "{qr}:following" }

// QRScanned holds the openids that followed, or scanned while following, through a scene.
func (k Keys) QRScanned(scene string) string { return k.Prefix + "{qr}:scanned:" + scene }

// QRScenes holds every scene seen in an event or created as a campaign.
func (k Keys) QRScenes() string { return k.Prefix + "{qr}:scenes" }

// TagProcessing holds the batch of tag operations being applied; a worker
// that dies leaves it there for the next one to finish first.
func (k Keys) TagProcessing() string { return k.Prefix + "{tags}:processing" }

// TagWorker is held by the one replica draining the tag queue.
func (k Keys) TagWorker() string { return k.Prefix + "{tags}:worker" }

// TagQueue is the durable queue of tag operations to mirror to WeChat.
func (k Keys) TagQueue() string { return k.Prefix + "{tags}:queue" }

// TagIDs maps tag names to WeChat tag ids.
func (k Keys) TagIDs() string { return k.Prefix + "{tags}:ids" }

// PublishIssue is the pipeline state of one issue.
func (k Keys) PublishIssue(n int) string { return k.Prefix + "{publish}:issue:" + strconv.Itoa(n) }

// PublishIssues is the set of issue numbers the pipeline knows.
func (k Keys) PublishIssues() string { return k.Prefix + "{publish}:issues" }

// PublishLock is held by whoever runs issue n's pipeline steps.
func (k Keys) PublishLock(n int) string { return k.Prefix + "{publish}:lock:" + strconv.Itoa(n) }

// PublishJob maps a freepublish publish_id to its issue.
func (k Keys) PublishJob(publishID string) string { return k.Prefix + "{publish}:job:" + publishID }

// PublishEarly keeps the job events (field KIND:ID, kind "msg" or "job")
// that arrived before the publisher recorded their id: a bounded set.
func (k Keys) PublishEarly() string { return k.Prefix + "{publish}:early" }

// PublishEarlyAt records when each early job event came, to expire and
// evict them.
func (k Keys) PublishEarlyAt() string { return k.Prefix + "{publish}:early:at" }

// PublishMedia caches uploads by content hash.
func (k Keys) PublishMedia() string { return k.Prefix + "{publish}:media" }

// PublishInbox holds the parse problems of inbox files, for `wxbot status`.
func (k Keys) PublishInbox() string { return k.Prefix + "{publish}:inbox" }

// PublishInboxSeen records the content hash of each inbox file handled.
func (k Keys) PublishInboxSeen() string { return k.Prefix + "{publish}:inbox:seen" }

// PublishSchedule holds the issues the leader must act on (send, retry a
// send, poll an outcome), scored by when, in unix milliseconds.
func (k Keys) PublishSchedule() string { return k.Prefix + "{publish}:schedule" }

// PublishLeader is the scheduler's leader lock.
func (k Keys) PublishLeader() string { return k.Prefix + "{publish}:leader" }

// PublishEpoch holds a random id set once: a process that finds it gone
// or changed knows Redis lost the publisher's data (see publisher/recover.go).
func (k Keys) PublishEpoch() string { return k.Prefix + "{publish}:epoch" }

// PublishFence is the fencing counter handed to each new leader.
func (k Keys) PublishFence() string { return k.Prefix + "{publish}:fence" }

// PublishMsg maps a mass-send msg_id to its issue.
func (k Keys) PublishMsg(msgID string) string { return k.Prefix + "{publish}:msg:" + msgID }

// PublishPolls counts the outcome polls of an endpoint (message/mass/get,
// freepublish/get) on a day (YYYY-MM-DD, Beijing time, when WeChat's daily
// quotas reset), shared by every replica.
func (k Keys) PublishPolls(endpoint, day string) string {
	return k.Prefix + "{publish}:polls:" + endpoint + ":" + day
}

// PublishSent counts broadcasts sent on a day (YYYY-MM-DD in publish.timezone).
func (k Keys) PublishSent(day string) string { return k.Prefix + "{publish}:sent:" + day }

// AdminSession is one /admin login session, named by the hex SHA-256 of
// its secret cookie value so that the keys do not reveal live sessions.
func (k Keys) AdminSession(hash string) string { return k.Prefix + "{admin}:session:" + hash }

// AdminLoginFailures counts a client's failed /admin logins.
func (k Keys) AdminLoginFailures(client string) string { return k.Prefix + "{admin}:fail:" + client }

// NotifySent is the claim of a notice: the replica that sets it delivers it.
func (k Keys) NotifySent(id string) string { return k.Prefix + "{notify}:sent:" + id }

// NotifyFailures lists the last delivery failures of a notice channel.
func (k Keys) NotifyFailures(channel string) string { return k.Prefix + "{notify}:failures:" + channel }

// NotifyClosed records the admins WeChat refused customer-service messages to.
func (k Keys) NotifyClosed() string { return k.Prefix + "{notify}:closed" }

// Token is the access_token shared by every replica for an AppID.
func (k Keys) Token(appID string) string { return k.Prefix + "token:" + appID }

// TokenLock is held by the one replica fetching a new access_token.
func (k Keys) TokenLock(appID string) string { return k.Prefix + "token:" + appID + ":lock" }

// PlainToken is the access_token from cgi-bin/token, kept apart from
// Token's (cgi-bin/stable_token): the two endpoints' tokens are
// independent and one must never be used in place of the other.
func (k Keys) PlainToken(appID string) string { return k.Prefix + "token:" + appID + ":plain" }

// PlainTokenLock is held by the one replica fetching from cgi-bin/token.
func (k Keys) PlainTokenLock(appID string) string {
	return k.Prefix + "token:" + appID + ":plain:lock"
}

// ReadershipArticles holds every article's datacube figures for one day (YYYY-MM-DD, Beijing).
func (k Keys) ReadershipArticles(day string) string {
	return k.Prefix + "{readership}:articles:" + day
}

// ReadershipTopics holds the followers per topic tag, as WeChat's tags/get
// last counted them (JSON with the time).
func (k Keys) ReadershipTopics() string { return k.Prefix + "{readership}:topics" }

// ReadershipTotals holds each article's figures per day since its send.
func (k Keys) ReadershipTotals() string { return k.Prefix + "{readership}:totals" }

// ReadershipUsers holds the account's figures for one day (YYYY-MM-DD, Beijing).
func (k Keys) ReadershipUsers(day string) string { return k.Prefix + "{readership}:users:" + day }

// ReadershipDays is the set of days collected in full.
func (k Keys) ReadershipDays() string { return k.Prefix + "{readership}:days" }

// ReadershipRan is claimed by the replica running the day's collection.
func (k Keys) ReadershipRan(day string) string { return k.Prefix + "{readership}:ran:" + day }
