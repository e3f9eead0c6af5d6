/** What the page is showing: filters, the page of the list, the open task, polling. */
export const state = {
  filter: { status: '', name: '', limit: 20 },
  cursor: undefined as string | undefined,
  previous: [] as Array<string | undefined>,
  nextCursor: null as string | null,
  detail: null as { taskId: string; opener: Element | null; updatedAt: string | null } | null,
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  refreshing: null as Promise<void> | null,
  polls: 0,
  listSeq: 0,
};
