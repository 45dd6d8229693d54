/** 运行的 map/reduce 进度（运行详情页）的简体中文：zh.ts 中的 `mapReduce`。 */
import type { Strings } from './en.ts';

export const mapReduceZh: Strings['mapReduce'] = {
  title: 'Map/Reduce',
  hint: '运行的处理器发出了子任务（ctx.map）；由其执行器组的节点执行，全部结束后执行一次 reduce。',
  ended: '{{total}} 个子任务中已结束 {{ended}} 个',
  pending: '等待中', running: '运行中', succeeded: '成功', failed: '失败', cancelled: '已取消',
  reduce: 'Reduce', noReduce: '无', onFailure: '子任务失败时', attempt: '尝试',
  states: { mapping: '发出子任务中', running: '执行子任务中', reducing: '归约中', succeeded: '成功', failed: '失败', cancelled: '已取消' },
  policies: { 'fail-run': '使运行失败', continue: '继续' },
};
