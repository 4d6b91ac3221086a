/**
 * RetainedTree: the retained message of each topic, in a trie of topic levels, so a new
 * subscription finds its retained messages by walking the trie with its filter instead of
 * scanning every retained message (the Aedes weak spot).
 *
 * Layout: one node per topic level; a node has a Map of children (undefined when it has none)
 * and, if a topic ends there, that topic's value. `set` replaces the value of its topic
 * [MQTT-3.3.1-5]; the broker calls `delete` for an empty retained payload [MQTT-3.3.1-6].
 *
 * Matching a filter (to send the retained messages of a new subscription [MQTT-3.3.1-9]): walk
 * level by level with a frontier of nodes. A literal level is one Map lookup per frontier node;
 * `+` takes every child, an empty level included [MQTT-4.7.1-3]; `#` takes the whole subtree of
 * each frontier node, the node itself included (`a/#` returns `a`) [MQTT-4.7.1-2], with an explicit
 * stack, so deep topics cannot overflow the call stack. When the filter's first level is a
 * wildcard, children of the root whose level starts with `$` are skipped [MQTT-4.7.2-1]. Cost:
 * the nodes the filter can reach, never the whole tree unless the filter is `#`.
 *
 * Invariants
 * 1. `size` is the number of nodes holding a value.
 * 2. Every node other than the root holds a value or has a child; `children` is undefined rather
 *    than empty. `delete` prunes the nodes that become empty, so memory follows the live
 *    retained messages.
 */
import { MULTI_LEVEL, SINGLE_LEVEL, isDollarTopic, isWildcardLevel, splitLevels } from './levels.js';

class RetainedNode<V> {
  children: Map<string, RetainedNode<V>> | undefined = undefined;
  hasValue = false;
  value: V | undefined = undefined;
}

export class RetainedTree<V> {
  private readonly root = new RetainedNode<V>();
  private count = 0;
  private nodes = 0;

  /** Number of retained topics. */
  get size(): number {
    return this.count;
  }

  /** Nodes besides the root (0 when empty). For tests and metrics. */
  get nodeCount(): number {
    return this.nodes;
  }

  /** Store or replace the value of `topic` [MQTT-3.3.1-5]. */
  set(topic: string, value: V): void {
    let node = this.root;
    for (const level of splitLevels(topic)) {
      let child = node.children?.get(level);
      if (child === undefined) {
        child = new RetainedNode<V>();
        (node.children ??= new Map()).set(level, child);
        this.nodes++;
      }
      node = child;
    }
    if (!node.hasValue) this.count++;
    node.hasValue = true;
    node.value = value;
  }

  get(topic: string): V | undefined {
    let node: RetainedNode<V> | undefined = this.root;
    for (const level of splitLevels(topic)) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node.value;
  }

  /** Remove the value of `topic` [MQTT-3.3.1-6]. True when there was one. */
  delete(topic: string): boolean {
    const levels = splitLevels(topic);
    const path: RetainedNode<V>[] = [this.root];
    let node: RetainedNode<V> | undefined = this.root;
    for (const level of levels) {
      node = node.children?.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    if (!node.hasValue) return false;
    node.hasValue = false;
    node.value = undefined;
    this.count--;
    // Prune: path[i] is reached from path[i - 1] by levels[i - 1].
    for (let i = path.length - 1; i > 0; i--) {
      const empty = path[i] as RetainedNode<V>;
      if (empty.hasValue || empty.children !== undefined) break;
      const parent = path[i - 1] as RetainedNode<V>;
      parent.children?.delete(levels[i - 1] as string);
      if (parent.children?.size === 0) parent.children = undefined;
      this.nodes--;
    }
    return true;
  }

  /** The values of every retained topic matching `filter` (a valid topic filter), in no order. */
  match(filter: string): V[] {
    const out: V[] = [];
    this.forEachMatch(filter, (value) => out.push(value));
    return out;
  }

  /**
   * Call `visit` with the value of every retained topic matching `filter`. The matching nodes are
   * gathered before the first call, so `visit` may change the tree.
   */
  forEachMatch(filter: string, visit: (value: V) => void): void {
    for (const node of this.matchingNodes(filter)) visit(node.value as V);
  }

  private matchingNodes(filter: string): RetainedNode<V>[] {
    const levels = splitLevels(filter);
    // [MQTT-4.7.2-1] A filter starting with a wildcard skips topics starting with '$'.
    const hideDollar = isWildcardLevel(levels[0] as string);
    let frontier: RetainedNode<V>[] = [this.root];
    const found: RetainedNode<V>[] = [];
    for (const level of levels) {
      if (level === MULTI_LEVEL) {
        // [MQTT-4.7.1-2] '#' is the last level: it takes every frontier node and its subtree.
        collectSubtrees(frontier, this.root, hideDollar, found);
        return found;
      }
      const next: RetainedNode<V>[] = [];
      for (const node of frontier) {
        const children = node.children;
        if (children === undefined) continue;
        if (level !== SINGLE_LEVEL) {
          const child = children.get(level);
          if (child !== undefined) next.push(child);
          continue;
        }
        // [MQTT-4.7.1-3] '+' takes every child, including an empty level.
        for (const [name, child] of children) {
          if (node === this.root && hideDollar && isDollarTopic(name)) continue;
          next.push(child);
        }
      }
      if (next.length === 0) return found;
      frontier = next;
    }
    for (const node of frontier) if (node.hasValue) found.push(node);
    return found;
  }
}

/** Every node holding a value in the subtrees of `starts`, iteratively. */
function collectSubtrees<V>(starts: RetainedNode<V>[], root: RetainedNode<V>, hideDollar: boolean, found: RetainedNode<V>[]): void {
  const stack = starts.slice();
  while (stack.length > 0) {
    const node = stack.pop() as RetainedNode<V>;
    if (node.hasValue) found.push(node);
    if (node.children === undefined) continue;
    for (const [name, child] of node.children) {
      if (node === root && hideDollar && isDollarTopic(name)) continue;
      stack.push(child);
    }
  }
}
