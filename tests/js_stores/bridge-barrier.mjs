// For the bridge's own tests: sessionExists answers true only once `width` calls are waiting
// at the same time, which can happen only if the host runs them concurrently.
export default class BarrierStore {
  constructor({ width = 8 } = {}) {
    this.width = width;
    this.waiting = [];
  }
  sessionExists() {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length === this.width) {
        for (const release of this.waiting.splice(0)) release(true);
      }
      setTimeout(() => resolve(false), 3000);
    });
  }
  async createSession() {}
  async getSession() { return null; }
  async updateSession() {}
  async deleteSession() {}
}
