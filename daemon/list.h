/* The one linked list of the daemon: intrusive and doubly linked, in the
 * style of BSD <sys/queue.h> TAILQ and the kernel's list.h.  The node lives
 * inside the element, so linking never allocates, and container_of() gets
 * the element back.  A list is a head node pointing at itself when empty
 * (list_init()); the list is circular, so linking and unlinking never
 * branch on first or last.  An element's node that is in no list has NULL
 * pointers (calloc'd, or after list_del()), which list_linked() tells. */
#ifndef JW_LIST_H
#define JW_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct list_node {
	struct list_node *prev, *next;
};

static inline void list_init(struct list_node *head)
{
	head->prev = head->next = head;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

static inline bool list_linked(const struct list_node *n)
{
	return n->next != NULL;
}

static inline void list_insert_between(struct list_node *n, struct list_node *prev, struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

static inline void list_add_head(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head, head->next);
}

static inline void list_add_tail(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head->prev, head);
}

/* Unlinks n from its list; a node in no list is left alone. */
static inline void list_del(struct list_node *n)
{
	if (!list_linked(n))
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

/* Moves every node of from onto to, which is (re)initialized first; from
 * is left empty. */
static inline void list_move_all(struct list_node *to, struct list_node *from)
{
	list_init(to);
	if (list_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

/* The first or last node, NULL when the list is empty. */
static inline struct list_node *list_first(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_last(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->prev;
}

/* The element of node n (which may be NULL: then NULL). */
#define list_entry(n, type, member)	     ((n) ? container_of((n), type, member) : NULL)
#define list_first_entry(head, type, member) list_entry(list_first(head), type, member)
#define list_last_entry(head, type, member)  list_entry(list_last(head), type, member)

/* Walks the nodes of head; the _safe form allows list_del(pos) inside. */
#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
#define list_for_each_safe(pos, tmp, head)                                                                  \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#endif
